"""The IVR flow language: YAML flows, validation with file:line errors, and the pure interpreter."""

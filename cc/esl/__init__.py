"""Event Socket layer: the only package that talks to FreeSWITCH (and the only one importing greenswitch)."""

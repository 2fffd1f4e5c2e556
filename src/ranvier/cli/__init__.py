"""`ranvier-cli`: an HTTP client of the node's admin API, with axonserver-cli's
command names, flags, output and exit codes. It imports nothing of the server."""

"""One module per area of the HTTP API; each exports `routes`."""

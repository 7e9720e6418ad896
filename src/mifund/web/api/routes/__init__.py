"""/api/v1 routes, one module per resource; thin: parse, call the service layer, shape the answer."""

"""The shipped supervision rules, one YAML file each (schema: mifund.supervision.spec)."""

"""Track definitions: dataclasses, the YAML schema, reference data, columns."""

"""The ``nsml`` command's verbs, one module per kind of thing they act on (sessions, checkpoints, submissions,
datasets). Each module adds its verbs to the parser with ``register`` and holds their handlers; ``nsml.cli`` puts
them together and turns errors into one-line messages."""

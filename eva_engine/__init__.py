"""eva: ex-ante impact assessment (ennakkoarviointi, EVA) engine for Finnish municipalities."""

__version__ = "0.1.0"

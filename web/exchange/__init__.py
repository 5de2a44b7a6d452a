"""Exchange with case-management systems, web side: the assessment summary rendered as HTML
and plain text in Finnish, Swedish or English (``render``) and the ``eva export`` commands
(``cli``). Importing cases is engine-side: ``eva_engine.services.exchange.importing``."""

"""Rendering without a web framework: the texts eva sends or hands over (notification emails,
the assessment summary for a case-management system) from Jinja2 templates inside this
package, in Finnish, Swedish or English through the shared message catalogs (Babel), with
one table of labels (``labels``) that the web UI uses too. Above the services (it renders
their views), below delivery and the command line."""

"""The report's outputs without a web framework: an HTML document (or the fragment the web
page embeds) with server-rendered SVG charts and the same figures as tables, CSV, XLSX
(openpyxl) and a printable PDF (WeasyPrint), in Finnish, Swedish or English from the shared
message catalogs (Jinja2 + Babel). Above the services (it renders their views), below the
command line; the web UI renders with it too."""

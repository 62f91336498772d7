"""The status pages on the ``listen`` port: claims, evidence, feed health and the outbox as server-rendered HTML
(``/``, ``/claims/<id>``, ``/feeds``, ``/outbox``), Atom feeds of the alerts (``/alerts.atom``,
``/claims/<id>.atom``) and a JSON API under ``/api/`` that mirrors the CLI's ``--json`` documents.

Everything here only reads the database. ``routes`` answers a request, ``pages`` gathers what a page shows (from
``monitor.views``, as the CLI does), ``render`` fills the Jinja2 templates (autoescaped), ``timeline`` lays out a
claim's state history as an SVG chart, ``atom`` writes the feeds, ``access`` decides who may read.
"""

"""Operators' management: paged lists and administrative changes behind the management API and
the console (issue 15). Both adapters call these functions; every change is audited here."""

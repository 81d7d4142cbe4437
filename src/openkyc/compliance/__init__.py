"""Compliance: data-subject rights (access, portability, erasure) across every context.

Above the contexts (DESIGN.md section 7): each context registers its own export and erase steps
(:mod:`openkyc.privacy.reach`), :mod:`openkyc.compliance.registry` collects them and
:mod:`openkyc.compliance.rights` runs them for an end user, a staff user or a whole account.
"""

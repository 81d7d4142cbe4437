"""Making repositories of personal data *require* a purpose.

A repository method that reads or writes personal data takes a required keyword-only argument
``purpose: Purpose`` and is decorated with ``@requires_purpose(<categories or elements>)``; the
decorator checks the purpose through the repository's ``gate`` (a :class:`PurposeGate`) before the
method runs. The class is registered with ``@personal_data_repository``; a test walks every
registered class and fails on any public method without a purpose requirement::

    @personal_data_repository
    class SubjectRepository:
        def __init__(self, session: Session, gate: PurposeGate) -> None:
            self.session, self.gate = session, gate

        @requires_purpose(DataElement.NAME, DataElement.FACE_IMAGE)
        def get(self, app_id: int, subject_id: str, *, purpose: Purpose) -> Subject: ...

    # in tests:
    REGISTRY.discover("openkyc")
    assert REGISTRY.unguarded() == {}

The subject and app are taken from the arguments named ``subject_id`` and ``app_id`` (or from
``self.app_id``), so consent is checked for model improvement on sensitive data. ``purpose`` may
also be an :class:`~openkyc.privacy.vocabulary.Obligation` (retention, subject rights): recorded,
never refused. Each call is recorded as a touch in the request's :mod:`~openkyc.privacy.ledger`.

A store whose elements depend on what it holds (the blob store: an image, a video or a document
image by blob kind) checks its purpose itself and is marked with ``@checks_purpose(<all elements>)``,
which demands the same ``purpose`` argument.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from openkyc.privacy import ledger
from openkyc.privacy.gate import PurposeGate, expand
from openkyc.privacy.vocabulary import DataCategory, DataElement, Obligation, Purpose

__all__ = [
    "REGISTRY",
    "PurposeRequirement",
    "RepositoryRegistry",
    "checks_purpose",
    "personal_data_repository",
    "requirement_of",
    "requires_purpose",
    "unguarded_methods",
    "use",
]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)

_MARK = "__openkyc_purpose_requirement__"


@dataclass(frozen=True)
class PurposeRequirement:
    elements: tuple[DataElement, ...]
    subject_arg: str
    app_arg: str


def requires_purpose(
    *items: DataCategory | DataElement, subject_arg: str = "subject_id", app_arg: str = "app_id", writes: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Check the method's ``purpose`` keyword through ``self.gate`` before it runs.

    ``writes``: the method adds, changes or deletes personal data (its touch is a write: decisions
    the request makes after it come too late, see :mod:`openkyc.privacy.ledger`).
    """
    elements = expand(items)
    if not elements:
        raise TypeError("requires_purpose needs at least one data category or element")
    requirement = PurposeRequirement(elements, subject_arg, app_arg)

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        signature = _purpose_signature(method)
        touch_name = method.__qualname__
        touch_kind = ledger.WRITE if writes else ledger.READ

        @functools.wraps(method)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            arguments = bound.arguments
            owner = args[0] if args else None
            gate = getattr(owner, "gate", None)
            if not isinstance(gate, PurposeGate):
                raise TypeError(f"{method.__qualname__}: the repository has no PurposeGate 'gate'")
            purpose = arguments["purpose"]
            if not isinstance(purpose, Purpose | Obligation):
                raise TypeError("purpose must be a Purpose or an Obligation")
            subject = arguments.get(subject_arg)
            app_id = arguments.get(app_arg, getattr(owner, "app_id", None))
            gate.check(
                purpose,
                elements,
                subject=subject if isinstance(subject, str) else None,
                app_id=app_id if isinstance(app_id, int) else None,
            )
            ledger.touched(touch_name, elements, touch_kind)
            return method(*args, **kwargs)

        setattr(guarded, _MARK, requirement)
        return guarded

    return decorate


def _purpose_signature(method: Callable[..., Any]) -> inspect.Signature:
    signature = inspect.signature(method)
    param = signature.parameters.get("purpose")
    if (
        param is None
        or param.kind is not inspect.Parameter.KEYWORD_ONLY
        or param.default is not inspect.Parameter.empty
    ):
        raise TypeError(f"{method.__qualname__} must take a required keyword-only argument 'purpose: Purpose'")
    return signature


def checks_purpose(*items: DataCategory | DataElement) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Marks a method that checks its required ``purpose`` itself, on some of ``items`` per call."""
    elements = expand(items)
    if not elements:
        raise TypeError("checks_purpose needs at least one data category or element")

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        _purpose_signature(method)
        setattr(method, _MARK, PurposeRequirement(elements, "subject_id", "app_id"))
        return method

    return decorate


def requirement_of(method: object) -> PurposeRequirement | None:
    """The purpose requirement a method was decorated with, if any."""
    target = method.__func__ if isinstance(method, classmethod | staticmethod) else method
    found = getattr(target, _MARK, None)
    return found if isinstance(found, PurposeRequirement) else None


def unguarded_methods(cls: type) -> list[str]:
    """Public methods and properties of ``cls`` (and its bases) without a purpose requirement."""
    problems: list[str] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(value, property):
                problems.append(f"{cls.__qualname__}.{name} (property)")
            elif callable(value) or isinstance(value, classmethod | staticmethod):
                if requirement_of(value) is None:
                    problems.append(f"{cls.__qualname__}.{name}")
    return problems


class RepositoryRegistry:
    """The classes that hold personal data; filled by the ``@personal_data_repository`` decorator."""

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}

    def register(self, cls: C) -> C:
        self._classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
        return cls

    @property
    def classes(self) -> tuple[type, ...]:
        return tuple(self._classes.values())

    def unguarded(self) -> dict[str, list[str]]:
        """``{class path: [unguarded methods]}`` for every class with at least one problem."""
        report: dict[str, list[str]] = {}
        for path, cls in self._classes.items():
            problems = unguarded_methods(cls)
            if problems:
                report[path] = problems
        return report

    def discover(self, package: str = "openkyc", prefix: str = "repositor") -> list[str]:
        """Import every module of ``package`` whose last name starts with ``prefix``.

        Registration happens at class definition, so this makes sure every repository module has
        run before :meth:`unguarded` is asked. Returns the imported module names.
        """
        root: Any = importlib.import_module(package)
        imported: list[str] = []
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if info.name.rsplit(".", 1)[-1].startswith(prefix):
                importlib.import_module(info.name)
                imported.append(info.name)
        return imported


REGISTRY = RepositoryRegistry()
personal_data_repository = REGISTRY.register


def use(
    gate: PurposeGate,
    purpose: Purpose | Obligation,
    items: tuple[DataCategory | DataElement, ...],
    *,
    what: str,
    app_id: int | None = None,
) -> None:
    """For a read outside a repository (a call record, a bill, a rule): the gate decides on
    ``purpose`` for ``items``, then the read is recorded as a touch named ``what``."""
    gate.check(purpose, items, app_id=app_id)
    ledger.touched(what, expand(items))

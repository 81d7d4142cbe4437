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
``self.app_id``), so consent is checked for model improvement on sensitive data.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from openkyc.privacy.gate import PurposeGate, expand
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

__all__ = [
    "REGISTRY",
    "PurposeRequirement",
    "RepositoryRegistry",
    "personal_data_repository",
    "requirement_of",
    "requires_purpose",
    "unguarded_methods",
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
    *items: DataCategory | DataElement, subject_arg: str = "subject_id", app_arg: str = "app_id"
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Check the method's ``purpose`` keyword through ``self.gate`` before it runs."""
    elements = expand(items)
    if not elements:
        raise TypeError("requires_purpose needs at least one data category or element")
    requirement = PurposeRequirement(elements, subject_arg, app_arg)

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(method)
        param = signature.parameters.get("purpose")
        if (
            param is None
            or param.kind is not inspect.Parameter.KEYWORD_ONLY
            or param.default is not inspect.Parameter.empty
        ):
            raise TypeError(f"{method.__qualname__} must take a required keyword-only argument 'purpose: Purpose'")

        @functools.wraps(method)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            arguments = bound.arguments
            owner = args[0] if args else None
            gate = getattr(owner, "gate", None)
            if not isinstance(gate, PurposeGate):
                raise TypeError(f"{method.__qualname__}: the repository has no PurposeGate 'gate'")
            purpose = arguments["purpose"]
            if not isinstance(purpose, Purpose):
                raise TypeError("purpose must be a Purpose")
            subject = arguments.get(subject_arg)
            app_id = arguments.get(app_arg, getattr(owner, "app_id", None))
            gate.check(
                purpose,
                elements,
                subject=subject if isinstance(subject, str) else None,
                app_id=app_id if isinstance(app_id, int) else None,
            )
            return method(*args, **kwargs)

        setattr(guarded, _MARK, requirement)
        return guarded

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

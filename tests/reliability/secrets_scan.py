"""The secret scan: every text an outcome or exception carries, searched for the secret, the salt and every
sign the provider computed. The masker's ``***`` is fine."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

from airflow_provider_wdt import protocol
from tests.reliability.environment import APPSECRET, SALT, SECRET


class SignRecorder:
    """Records every sign value the provider computes (protocol.compute_sign is wrapped)."""

    def __init__(self) -> None:
        self.signs: set[str] = set()
        self._original = protocol.compute_sign

    def __enter__(self) -> SignRecorder:
        original = self._original

        def recording(secret: str, params: Any, body: str) -> str:
            sign = original(secret, params, body)
            self.signs.add(sign)
            return sign

        protocol.compute_sign = recording
        return self

    def __exit__(self, *exc: object) -> None:
        protocol.compute_sign = self._original


def exception_texts(exc: BaseException) -> list[str]:
    """Every text an exception carries: str, repr, attributes, the formatted traceback, and the whole
    chain of __cause__ and __context__, the suppressed context included."""
    texts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current!s} | {current!r}")
        texts.extend(repr(v) for v in vars(current).values() if not isinstance(v, BaseException))
        texts.append("".join(traceback.format_exception(type(current), current, current.__traceback__)))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
    return texts


def find_secrets(texts: Iterable[str], signs: Iterable[str] = ()) -> list[str]:
    """The secret values found in ``texts`` (empty when clean). The masker's ``***`` is fine."""
    blob = "\n".join(texts)
    needles = {"secret": SECRET, "salt": SALT, "appsecret": APPSECRET}
    found = [f"{name} ({value})" for name, value in needles.items() if value in blob]
    found += [f"sign {sign}" for sign in signs if sign in blob]
    return found

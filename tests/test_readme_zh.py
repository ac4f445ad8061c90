"""README.md and README.zh-CN.md stay in step: the same code blocks in the same order (their comments
translated, the code itself identical), the same commands in the prose, the same class names, and every
error class explained in the Chinese one.

When this fails after README.md changed, its message names the block, command or class to port.
"""

from __future__ import annotations

import difflib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_wdt import errors

REPO = Path(__file__).resolve().parents[1]
EN, ZH = REPO / "README.md", REPO / "README.zh-CN.md"

FENCE = re.compile(r"^( *)```(\S*)\s*$")
HEADING = re.compile(r"^#+ .*")
INLINE_CODE = re.compile(r"`([^`]+)`")
# What counts as a command when it stands in inline code in the prose.
COMMAND_STARTS = ("make ", ".venv/bin/", "airflow ", "pip ", "python ", "uv ", "export ")
CLASS_NAME = re.compile(r"\bWdt[A-Z]\w*")
# A comment in a code block: "#" and a space, at the start of a line or after a space.
COMMENT = re.compile(r"(?:^|\s)#\s.*$")
# Untranslated prose: three English words in a row.
PROSE = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    heading: str  # the last heading above it

    @property
    def code(self) -> str:
        """The block without its comments (those are translated); a block without a language (program
        output) is compared whole."""
        if not self.lang:
            return self.text
        return "\n".join(COMMENT.sub("", line).rstrip() for line in self.text.splitlines())

    @property
    def comments(self) -> list[str]:
        if not self.lang:
            return []
        return [m.group(0).strip() for m in map(COMMENT.search, self.text.splitlines()) if m]

    def describe(self, readme: Path) -> str:
        fence = f"```{self.lang}" if self.lang else "``` (no language)"
        body = "\n".join(f"    | {line}" for line in self.text.splitlines())
        return f"the {fence} block at {readme.name} line {self.line} (under {self.heading!r}):\n{body}"


def split(markdown: str) -> tuple[list[Block], str]:
    """The fenced code blocks (dedented by their fence's indent) and the prose with the blocks removed."""
    blocks: list[Block] = []
    prose: list[str] = []
    body: list[str] = []
    heading, open_at, indent, lang = "(top)", 0, "", ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = FENCE.match(line)
        if open_at:
            if fence and fence.group(1) == indent and not fence.group(2):
                blocks.append(Block(lang, "\n".join(body), open_at, heading))
                open_at = 0
            else:
                body.append(line.removeprefix(indent))
            continue
        if fence:
            open_at, indent, lang, body = number, fence.group(1), fence.group(2), []
            continue
        if HEADING.match(line):
            heading = line
        prose.append(line)
    assert not open_at, f"unclosed code fence at line {open_at}"
    return blocks, "\n".join(prose)


def inline_commands(prose: str) -> set[str]:
    """Commands quoted inline in the prose; a span wrapped over two lines counts as one command."""
    spans = (" ".join(span.split()) for span in INLINE_CODE.findall(prose))
    return {span for span in spans if span.startswith(COMMAND_STARTS)}


def read(readme: Path) -> tuple[list[Block], str, str]:
    text = readme.read_text(encoding="utf-8")
    blocks, prose = split(text)
    return blocks, prose, text


def error_classes() -> set[str]:
    return {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, errors.WdtError) and obj.__module__ == errors.__name__
    }


def test_the_parser_finds_indented_blocks_and_wrapped_commands() -> None:
    sample = (
        "# t\n## A\nrun `make demo` or `.venv/bin/python -m x\n--port 1`, not `WdtHook`.\n"
        "1. step\n   ```\n   out\n   ```\n```bash\nmake test\n```\n"
    )
    blocks, prose = split(sample)
    assert blocks == [Block("", "out", 6, "## A"), Block("bash", "make test", 9, "## A")]
    assert inline_commands(prose) == {"make demo", ".venv/bin/python -m x --port 1"}
    assert "make test" not in prose


def test_the_readmes_link_to_each_other_at_the_top() -> None:
    assert "(README.zh-CN.md)" in "".join(EN.read_text(encoding="utf-8").splitlines(keepends=True)[:5])
    assert "(README.md)" in "".join(ZH.read_text(encoding="utf-8").splitlines(keepends=True)[:5])


def block_drift(en: list[Block], zh: list[Block]) -> list[str]:
    """What differs between the two block sequences, each item naming the block and where it is."""
    key = lambda b: (b.lang, b.code)  # noqa: E731
    problems = []
    matcher = difflib.SequenceMatcher(a=[key(b) for b in en], b=[key(b) for b in zh], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and a1 - a0 == b1 - b0:  # changed in place: show how
            for e, z in zip(en[a0:a1], zh[b0:b1], strict=True):
                diff = difflib.unified_diff(
                    z.code.splitlines(), e.code.splitlines(), ZH.name, EN.name, lineterm="", n=1
                )
                problems.append(
                    f"{ZH.name} line {z.line} (under {z.heading!r}) differs from {EN.name} line {e.line} "
                    f"(under {e.heading!r}):\n" + "\n".join(f"    {line}" for line in diff)
                )
            continue
        problems += [f"{ZH.name} lacks {b.describe(EN)}" for b in en[a0:a1]]
        problems += [f"{ZH.name} has {b.describe(ZH)}\n  which {EN.name} does not have" for b in zh[b0:b1]]
    return problems


def test_the_same_code_blocks_in_the_same_order() -> None:
    en, _, _ = read(EN)
    zh, _, _ = read(ZH)
    assert len(en) >= 8, "README.md has fewer code blocks than expected: is the parser broken?"
    problems = block_drift(en, zh)
    assert not problems, "\n\n".join(problems) + "\n\nCopy blocks verbatim; translate the prose and comments."


def untranslated_comments(en: list[Block], zh: list[Block]) -> list[str]:
    """Comments of README.zh-CN.md's blocks still in English where README.md's say something in words."""
    problems = []
    for e, z in zip(en, zh, strict=True):
        if len(e.comments) != len(z.comments):
            problems.append(
                f"{ZH.name} line {z.line}: {len(z.comments)} comments, {EN.name} has {len(e.comments)}"
            )
            continue
        problems += [
            f"{ZH.name} block at line {z.line}: {zc!r} translates nothing of {ec!r}"
            for ec, zc in zip(e.comments, z.comments, strict=True)
            if PROSE.search(ec) and not CJK.search(zc)
        ]
    return problems


def test_the_code_blocks_comments_are_in_chinese() -> None:
    en, zh = read(EN)[0], read(ZH)[0]
    assert sum(len(b.comments) for b in en) >= 20, "the parser finds too few comments in README.md"
    problems = untranslated_comments(en, zh)
    assert not problems, "\n".join(problems)


def test_comments_are_told_apart_from_code() -> None:
    block = Block("python", 'x = "a#b"  # the value\n# the whole line\ny = 1', 1, "#")
    assert block.code == 'x = "a#b"\n\ny = 1'
    assert block.comments == ["# the value", "# the whole line"]
    assert Block("", "# output line", 1, "#").comments == []
    zh = Block("python", 'x = "a#b"  # 取值\n# the whole line\ny = 1', 1, "#")
    assert untranslated_comments([block], [zh]) == [
        "README.zh-CN.md block at line 1: '# the whole line' translates nothing of '# the whole line'"
    ]


def test_the_same_commands_in_the_prose() -> None:
    en = inline_commands(read(EN)[1])
    zh = inline_commands(read(ZH)[1])
    assert {"make demo", "make test"} <= en, "the parser no longer finds README.md's commands"
    assert en == zh, (
        f"commands in README.md's prose missing from README.zh-CN.md: {sorted(en - zh)}; "
        f"in README.zh-CN.md but not README.md: {sorted(zh - en)}"
    )


def test_the_same_class_names() -> None:
    en = set(CLASS_NAME.findall(read(EN)[2]))
    zh = set(CLASS_NAME.findall(read(ZH)[2]))
    assert {"WdtHook", "WdtPendingSyncIdsOperator", "WdtPendingSyncSensor"} <= en
    assert not en - zh, f"classes README.md names but README.zh-CN.md does not: {sorted(en - zh)}"
    # The Chinese README explains every error class, so it may name error classes README.md leaves out.
    extra = zh - en - error_classes()
    assert not extra, f"classes README.zh-CN.md names but README.md does not: {sorted(extra)}"


def test_every_error_class_is_explained_in_the_chinese_readme() -> None:
    zh = set(CLASS_NAME.findall(read(ZH)[2]))
    missing = error_classes() - zh
    assert not missing, (
        f"error classes of airflow_provider_wdt.errors missing from README.zh-CN.md: {missing}"
    )

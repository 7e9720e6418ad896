"""What an import tells the user: issues (errors, warnings, notes), per-file counts, the failure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ERROR, WARNING, INFO = "error", "warning", "info"

SHOWN_IN_MESSAGE = 50  # issues listed in ImportFailed's message; the rest are counted
KEPT_PER_FILE = 1000  # issues kept in memory per file; a file with millions of bad cells is only counted beyond


@dataclass
class ImportIssue:
    file: str
    row: int | None
    column: str | None
    reason: str
    value: str | None = None
    severity: str = ERROR  # "error", "warning", or "info" (a note, e.g. an ignored extra column)
    key: str | None = None  # where a page says the reason in its own language: the catalogue key …
    params: dict | None = None  # … and its placeholders (ingest.scope.REASONS)

    def __str__(self) -> str:
        where = self.file or "import"
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        tag = "" if self.severity == ERROR else f"[{self.severity}] "
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {tag}{self.reason}{value}"

    def as_dict(self) -> dict:
        return asdict(self)


class ImportFailed(Exception):
    """Nothing was written. `issues` holds what was found (at most KEPT_PER_FILE per file); `more`
    counts the ones found but not kept."""

    def __init__(self, issues: list[ImportIssue], more: int = 0, strict: bool = False):
        self.issues = list(issues)
        self.more = more
        self.strict = strict
        super().__init__(self._message())

    @property
    def total(self) -> int:
        return len(self.issues) + self.more

    def _message(self) -> str:
        files = sorted({i.file for i in self.issues if i.file})
        head = f"Import failed: {self.total} problem{'s' if self.total != 1 else ''}"
        if files:
            head += " in " + ", ".join(files)
        head += "; nothing was written."
        if self.strict:
            head += " (--strict: warnings count as errors)"
        lines = [head] + [f"  {i}" for i in self.issues[:SHOWN_IN_MESSAGE]]
        hidden = self.total - min(len(self.issues), SHOWN_IN_MESSAGE)
        if hidden > 0:
            lines.append(f"  and {hidden} more")
        return "\n".join(lines)


@dataclass
class IssueLog:
    """Collects the issues of one file, keeping the first KEPT_PER_FILE and counting the rest."""

    kept: list[ImportIssue] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=dict)  # severity -> issues found but not kept
    limit: int = KEPT_PER_FILE

    def room(self) -> int:
        return max(self.limit - len(self.kept), 0)

    def add(self, issue: ImportIssue) -> None:
        if self.room():
            self.kept.append(issue)
        else:
            self.hidden[issue.severity] = self.hidden.get(issue.severity, 0) + 1

    def extend(self, issues, hidden: dict[str, int] | None = None) -> None:
        for i in issues:
            self.add(i)
        for sev, n in (hidden or {}).items():
            self.hidden[sev] = self.hidden.get(sev, 0) + n

    def count(self, severity: str) -> int:
        return sum(1 for i in self.kept if i.severity == severity) + self.hidden.get(severity, 0)

    def failure(self, strict: bool = False) -> ImportFailed:
        """The exception for this file: its errors (and warnings, when strict) in row order."""
        counted = (ERROR, WARNING) if strict else (ERROR,)
        shown = sorted((i for i in self.kept if i.severity in counted), key=_order)
        return ImportFailed(shown, more=sum(self.hidden.get(s, 0) for s in counted), strict=strict)

    @property
    def warnings(self) -> list[ImportIssue]:
        return [i for i in self.kept if i.severity != ERROR]


def _order(i: ImportIssue):
    """By file and row; within a row, the order found (the contract's column order), as sorts are stable."""
    return (i.file, i.row if i.row is not None else -1)


@dataclass
class FileReport:
    file: str
    table: str
    rows_read: int
    inserted: int
    replaced: int
    unchanged: int


@dataclass
class ImportReport:
    files: list[FileReport]
    warnings: list[ImportIssue]
    batch_id: str

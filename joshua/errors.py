"""JOSHUA's exceptions.

The tree, caught by type and never by message:

* JoshuaError
  * ConfigError - settings, sources or a snapshot that cannot be used.
    * SampleRefused - the fictional sample would mix with live assessments.
  * SourceError - one source could not be fetched or parsed.
  * SchemaViolation - a table broke its data contract.
  * AnalysisError - an analyzer could not rate the evidence.
  * BudgetExceeded - a token or dollar cap would be crossed.
  * InsufficientData - too few sources succeeded to assess.
"""


class JoshuaError(Exception):
    """Base class of every error JOSHUA raises on purpose."""


class ConfigError(JoshuaError):
    """Settings, a sources file or a snapshot directory cannot be used."""


class SampleRefused(ConfigError):
    """The bundled (fictional) sample would land in a lake that holds live assessments."""


class SourceError(JoshuaError):
    """One source could not be fetched or parsed."""


class SchemaViolation(JoshuaError):
    """A table broke its data contract; `failures` lists what failed."""

    def __init__(self, table: str, failures: list[str]):
        self.table = table
        self.failures = failures
        super().__init__(f"{table} failed {len(failures)} expectation(s): " + "; ".join(failures))


class AnalysisError(JoshuaError):
    """An analyzer could not rate the evidence."""


class BudgetExceeded(JoshuaError):
    """A token or dollar cap would be crossed."""


class InsufficientData(JoshuaError):
    """Too few sources succeeded for an assessment to mean anything."""

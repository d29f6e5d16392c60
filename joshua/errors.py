"""JOSHUA's exceptions.

The tree, caught by type and never by message (after httpx's: the data rides on the exception):

* JoshuaError
  * ConfigError - settings, sources or a snapshot that cannot be used.
    * SampleRefused - the fictional sample would mix with assessments of real data.
  * SourceError(source_id, url) - one source could not be collected.
    * FetchError - the request failed: transport error, HTTP status, oversized or corrupt body.
    * ParseError - the body arrived but is not what the source promised.
  * SchemaViolation(table, failures) - a table broke its data contract.
  * AnalysisError - an analyzer could not rate the evidence.
    * ClaudeUnavailable - a Messages API call failed (after the SDK's own retries).
    * ClaudeRefused - Claude declined to answer.
    * InvalidReply - a reply broke the contract (and its one repair did too).
    * CircuitOpen - too many calls failed this run; no more are sent.
    * NoEvidence - no article is relevant enough to offer as evidence.
  * BudgetExceeded - a token or dollar cap would be crossed.
  * InsufficientData - too few sources succeeded to assess.
  * StorageError - the object store holding the data directory failed a request.

A source's failure is stored with its class name in the `error_type` column of `runs.sources`
and of the `sources` table, beside the message.
"""

from __future__ import annotations


class JoshuaError(Exception):
    """Base class of every error JOSHUA raises on purpose."""


class ConfigError(JoshuaError):
    """Settings, a sources file or a snapshot directory cannot be used."""


class SampleRefused(ConfigError):
    """The bundled (fictional) sample would land in a lake that holds assessments of real data."""


class SourceError(JoshuaError):
    """One source could not be collected; `url` is the request's, when one was made."""

    def __init__(self, source_id: str, url: str | None, reason: str):
        self.source_id, self.url, self.reason = source_id, url, reason
        super().__init__(f"{source_id}: {reason}")

    def at(self, url: str) -> SourceError:
        """The same error, naming the request it came from (parsers do not know the URL)."""
        if self.url is None:
            self.url = url
        return self


class FetchError(SourceError):
    """A request failed: transport error, error status, or a body too large or corrupt to read."""


class ParseError(SourceError):
    """A body arrived but is not the feed or JSON document the source promised."""


class SchemaViolation(JoshuaError):
    """A table broke its data contract; `failures` lists what failed."""

    def __init__(self, table: str, failures: list[str]):
        self.table = table
        self.failures = failures
        super().__init__(f"{table} failed {len(failures)} expectation(s): " + "; ".join(failures))


class AnalysisError(JoshuaError):
    """An analyzer could not rate the evidence."""


class ClaudeUnavailable(AnalysisError):
    """A Messages API call failed after the SDK's retries (status, timeout, connection, bad body)."""


class ClaudeRefused(AnalysisError):
    """Claude declined to answer (stop_reason `refusal`)."""


class InvalidReply(AnalysisError):
    """A reply broke the contract: cut off, no tool call, or input that breaks the schema."""


class CircuitOpen(AnalysisError):
    """Enough calls failed this run that no more are sent."""


class NoEvidence(AnalysisError):
    """No article is relevant enough to offer Claude as evidence."""


class BudgetExceeded(JoshuaError):
    """A token or dollar cap would be crossed."""


class InsufficientData(JoshuaError):
    """Too few sources succeeded for an assessment to mean anything."""


class StorageError(JoshuaError):
    """The object store holding the data directory could not be reached or refused a request."""

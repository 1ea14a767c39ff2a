"""Access patterns as plug-ins: one module per pattern, from (rng, key space, process state,
clock) to a ``Call`` built on the key design's logical calls. No I/O here: a pattern decides
*what* to ask; ``ddbbench.execute`` sends it.

Layout: ``base.py`` (``Pattern``, and the ``Context`` a pattern draws on), ``state.py`` (what a
process remembers), ``factory.py`` (``RequestFactory``, ``PatternPicker``), ``registry.py``
(the patterns by name), and one module per pattern, named as the pattern:
``get_conversation``, ``query_by_candidate_status``, ``update_status``, ``append_message``,
``batch_get_candidates``, ``create_conversation``, ``log_events``.

Adding a pattern (say ``get_profile``: one candidate's profile) is one module, named as the
pattern, and one registry line in ``ddbbench.facts.PATTERN_FACTS`` (name, kind, key space,
default weight), plus tests and docs. Nothing else: the scenario file then accepts
``mix.get_profile`` and ``keys.get_profile`` (the scenario model builds those fields from the
registry), ``REGISTRY`` finds the module by its name, and the reports list the pattern. No
design changes when the pattern is built on calls the designs already answer::

    # ddbbench/patterns/get_profile.py       facts: PatternFact("get_profile", "read", CANDIDATE_KEYS)
    class GetProfile(Pattern):
        name = "get_profile"

        def make(self, ctx: Context, rng: random.Random) -> Call:
            candidate = ctx.keys.candidate_id(ctx.chooser(self.name).choose(rng))
            return ctx.design.batch_get_candidates([candidate])

    PATTERN = GetProfile()

A pattern that needs a new kind of request adds one logical call to ``Design`` in
ddbbench/designs/base.py, written once on the designs' shared pieces (as ``log_events`` is on
``event_items``); only a design that stores things differently overrides it.
"""

from ddbbench.patterns.base import Context, Pattern
from ddbbench.patterns.factory import PatternPicker, RequestFactory
from ddbbench.patterns.registry import REGISTRY
from ddbbench.patterns.state import NEXT_STATUS, ConversationState, now_iso, process_salt

__all__ = ["NEXT_STATUS", "REGISTRY", "Context", "ConversationState", "Pattern", "PatternPicker",
           "RequestFactory", "now_iso", "process_salt"]

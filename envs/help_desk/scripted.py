"""Scripted help-desk players: a keyword-matching customer and a form-filling agent."""

from __future__ import annotations

import re

from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent
from palaestra.envs.textnorm import mentions_word


class KeywordCustomer(ScriptedAgent):
    """Opens with its request; then gives every detail whose keywords the agent's last
    message mentions ("What is your order number?" -> "My order number is 482137.")."""

    key = "keyword"

    def reply(self, obs: Observation) -> str:
        f = obs.facts
        asked = f["agent_message"]
        if not asked:
            return f["opening"]
        answers = [
            f"My {f['labels'][slot]} is {value}."
            for slot, value in f["slots"].items()
            if any(mentions_word(asked, word) for word in f["keywords"][slot])
        ]
        if answers:
            return " ".join(answers)
        if mentions_word(asked, "help"):
            return f["opening"]
        return "Sorry, I am not sure what you need from me."


class FormFiller(ScriptedAgent):
    """Works out the request from the customer's words, notes each detail the customer
    states as "My <label> is <value>.", asks for the first missing one and resolves when
    all are known."""

    key = "form"

    def reply(self, obs: Observation) -> str:
        f = obs.facts
        said = " ".join(f["customer_messages"])
        intent = next(
            (
                k
                for k, spec in f["intents"].items()
                if any(mentions_word(said, w) for w in spec["keywords"])
            ),
            None,
        )
        if intent is None:
            return "How can I help you today?"
        spec = f["intents"][intent]
        known = {"intent": intent}
        for slot in spec["slots"]:
            label = re.escape(spec["labels"][slot])
            found = re.search(rf"[Mm]y {label} is (?P<value>.+?)\.(?:\s|$)", said)
            if found:
                known[slot] = found.group("value")
        notes = [f"NOTE: {k}={v}" for k, v in known.items() if f["notes"].get(k) != v]
        missing = [s for s in spec["slots"] if s not in known]
        if missing:
            ask = f"Could you tell me your {spec['labels'][missing[0]]}?"
            return "\n".join([*notes, ask])
        pairs = "; ".join(f"{k}={v}" for k, v in known.items())
        return "\n".join([*notes, "Thank you, that is all I need.", f"RESOLVE: {pairs}"])


SCRIPTED = {cls.key: cls for cls in (KeywordCustomer, FormFiller)}

"""Structured extraction into a pydantic model with the built-in model: ``parse()`` sends the model's JSON
schema, the engine decodes under it, and the answer comes back as a ``Contact``; valid by construction
(types, lengths, the email pattern), whatever the small model makes of the text."""

from typing import Literal

from pydantic import BaseModel, Field

import llmaas


class Contact(BaseModel):
    name: str = Field(max_length=40)
    email: str = Field(pattern=r"^[a-z0-9._-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}$")
    company: str = Field(max_length=40)
    role: Literal["engineering", "sales", "management", "other"]


NOTES = [
    "Met Maria Lopez from Acme Robotics at the fair; she leads the sales team. Write to maria@acme.io.",
    "Call back Tom Becker (tom.becker@northwind.com), engineer at Northwind, about the API limits.",
    "Priya Shah, CTO of Lumen Labs, asked for the deck: priya@lumenlabs.ai.",
]

with llmaas.Client() as client:
    for note in NOTES:
        reply = client.chat.completions.parse(
            model="smollm2-135m-instruct", response_format=Contact, max_tokens=120, temperature=0,
            messages=[{"role": "system", "content": "Extract the contact from the note."},
                      {"role": "user", "content": note}])
        contact = reply.choices[0].message.parsed
        assert isinstance(contact, Contact)
        print(f"{note[:48]}...\n  -> {contact!r}")

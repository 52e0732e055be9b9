"""The composition root: builds every part of the bot from one ``Settings``."""

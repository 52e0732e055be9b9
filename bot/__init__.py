"""ai-sre: a Slack-native AI SRE bot."""

__version__ = "0.1.0"

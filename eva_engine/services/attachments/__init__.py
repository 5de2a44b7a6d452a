"""Attachments (liitteet) of proposals and evidence of assessment areas."""

"""Follow-up (seuranta): one follow-up per follow-up indicator of a decided proposal, its
result and how the impact went compared with the prediction, or why it was waived."""

"""Review comments (tarkastuskommentit): a reviewer comments on a question, an impact area or
the whole assessment; the preparer answers or resolves. Open comments show on My work and block
no workflow step; returning the proposal for revision is the workflow's own step."""

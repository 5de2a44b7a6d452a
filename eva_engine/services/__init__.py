"""Use cases. Each public function is one unit of work: it checks permissions, changes the
stored state through the repositories, and commits once, with its audit events."""

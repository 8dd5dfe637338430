"""Running a community: roles, reports and the moderators' queue, suspensions, the audit log."""

"""The endpoints of the avatar API, one router per subject: avatars, style queries, the explore
page, probes."""

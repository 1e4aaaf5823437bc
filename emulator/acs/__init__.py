"""ACS Call Automation: the REST API under /calling, the callbacks it sends, the IncomingCall
offers it raises. Uses the phone network and Event Grid; never the control API."""

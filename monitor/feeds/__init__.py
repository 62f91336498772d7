"""The poll side: fetching feeds, parsing them into stories in budgeted workers, and scheduling each feed."""

"""City pilots: 细分行业, enrolment, retrofit projects, the dashboard and its exports."""

"""The experiment machinery: configs, jobs, studies, the suite, reports and the demo."""

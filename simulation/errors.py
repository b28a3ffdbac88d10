"""The error types users see.

Every problem with a scenario, catalogue, command line or output folder is raised
as a :class:`ScenarioError` naming the file, the field and what is wrong; the
command line turns it into a one-paragraph message and exit status 2, before
anything is written. A run that goes wrong once it has started (its numbers stop
being finite) raises :class:`RunFailed`: exit status 3, and nothing is written.
"""


class ScenarioError(Exception):
    """Bad input: which file, which field, what is wrong."""

    def __init__(self, file, field, problem):
        self.file = str(file) if file is not None else "<command line>"
        self.field = field
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self):
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"error: {where}: {self.problem}"


class RunFailed(ScenarioError):
    """A run that could not go on: which scenario, which measure, what happened."""

"""The one error type users see for bad input.

Every problem with a scenario, catalogue or command line is raised as a
:class:`ScenarioError` naming the file, the field and what is wrong; the command
line turns it into a one-paragraph message and exit status 2.
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

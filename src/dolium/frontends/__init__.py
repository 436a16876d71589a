"""The APIs Dolium speaks, one package each; they share only what is here."""

# The ASGI scope key where a front end leaves the name of the handler it ran
# (snake case), for the request metrics of the composition root.
OPERATION_KEY = "dolium.operation"
# ... and of who made the request, as "tenant:user", once authenticated.
PRINCIPAL_KEY = "dolium.principal"

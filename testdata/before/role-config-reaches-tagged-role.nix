# The servers are every machine (tag `all`), which may include machines this
# file does not list (a directory in machines/, another file). The client
# config reaches only the servers that are also clients: `web`, by name.
{
  inventory.machines = {
    web = { };
    db = { tags = [ "backend" ]; };
  };
  inventory.services.sshd.fleet = {
    roles.server.tags = [ "all" ];
    roles.client.machines = [ "web" ];
    roles.client.config.certificate.searchDomains = [ "internal.example" ];
  };
}

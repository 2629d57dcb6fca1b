{
  inventory.services.mumble.voice = {
    roles.server.machines = [ "hub" ];
  };
}

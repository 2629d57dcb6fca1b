{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory = ({
    services = ({
      data-mesher.default = (
        {
          roles.admin.machines = [ "gateway" ];
          roles.peer.tags = [ "all" ];
        }
      );
    });
  });
}

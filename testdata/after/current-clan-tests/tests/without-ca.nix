{
  name = "sshd-without-ca";
  clan = {
    directory = ./.;
    inventory = {
      machines.server = { };
      instances.sshd-default = {
        module.name = "@clan/sshd";
        module.input = "self";
        roles.server.machines.server.settings = {
          hostKeys.rsa.enable = true;
        };
      };
    };
  };
}

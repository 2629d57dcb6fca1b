# A test with a clan of its own: its instance names and settings do not meet
# the flake's, nor those of the other test.
{
  name = "sshd-with-ca";
  clan = {
    directory = ./.;
    inventory = {
      machines.server = { };
      instances.sshd-default = {
        module.name = "@clan/sshd";
        module.input = "self";
        roles.server.machines.server.settings = {
          certificate.searchDomains = [ "example.com" ];
        };
      };
    };
  };
}

{ _class = "clan.service"; manifest.name = "sshd"; }

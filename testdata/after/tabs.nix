{
	inventory = {
		services = {
			ergochat.chat = {
				roles.default.machines = [ "chat" ];
			};
		};
	};
}

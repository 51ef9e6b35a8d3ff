"""``UsgGatewayConfig``: install the rendered config.gateway.json on the controller and
provision the USG, in this order (each step ``depends_on`` the one before):

1. ``reprovision-after-restore`` (local): only says what it is for on create; on destroy it runs last,
   after the original file is back, and provisions the gateway with it.
2. ``stage`` (remote): makes sure ``sites/<site>/`` exists and leaves an empty staged file the
   SSH user may overwrite (the site directory belongs to the controller's user).
3. ``upload`` (CopyToRemote): the file, over SFTP, to the staged name in the same directory.
4. ``install`` (remote): checks the upload's sha256, keeps the user's original once, refuses
   hand edits and other stacks, moves the file into place (0600); on delete it restores the
   original. A content change is an *update* of this command: a replacement would run the
   old resource's delete (the restore) after the new install.
5. ``provision`` (local): ``python -m components.unifi provision`` with secrets in its
   environment; runs only when the content's sha256 (in its command line) changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.config.model import ControllerAccess, SshAccess
from components.gateway import commands
from components.gateway.environment import secret_environment
from components.gateway.scripts import LIVE_NAME


@dataclass(frozen=True)
class UsgGatewayConfigArgs:
    controller: ControllerAccess
    ssh: SshAccess
    stack: str  # recorded beside the file: another stack's file is refused
    content: pulumi.Output[str]  # the exact file; may hold the BGP password (wrapped secret here)
    preview: pulumi.Output[str]  # the same document with secrets redacted, for diffs


class UsgGatewayConfig(pulumi.ComponentResource):
    reprovision_after_restore: command.local.Command
    stage: command.remote.Command
    upload: command.remote.CopyToRemote
    install: command.remote.Command
    provision: command.local.Command
    path: str
    sha256: pulumi.Output[str]

    def __init__(self, name: str, args: UsgGatewayConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:gateway:UsgGatewayConfig", name, None, opts)
        controller, ssh, stack = args.controller, args.ssh, args.stack
        plan = commands.upload_plan(controller, ssh, stack)
        self.path = f"{plan.site_dir}/{LIVE_NAME}"
        self.sha256 = args.content.apply(commands.sha256_hex)

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(resources))

        connection = command.remote.ConnectionArgs(
            host=ssh.host,
            port=ssh.port,
            user=ssh.user,
            private_key=pulumi.Output.secret(commands.secret_value(ssh.private_key)),
            host_key=ssh.host_key,  # checked, never trusted on first use
        )

        self.reprovision_after_restore = command.local.Command(
            f"{name}-reprovision-after-restore",
            # A create of its own: some pulumi-command releases report a diff on every run for
            # a command without one (pulumi-command#920).
            create="echo 'provisions the gateway on destroy, after the original file is back'",
            delete=commands.reprovision_command(controller),
            environment=secret_environment(commands.client_environment(controller)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.stage = command.remote.Command(
            f"{name}-stage",
            connection=connection,
            create=plan.shell,
            stdin=plan.prepare_stdin,
            # Each new content needs a fresh placeholder (the install removes it); the
            # stage has no delete, so replacing it is harmless.
            triggers=[self.sha256],
            opts=after(self.reprovision_after_restore),
        )
        asset: pulumi.Output[pulumi.Asset] = args.content.apply(pulumi.StringAsset)
        secret_asset: pulumi.Output[pulumi.Asset] = pulumi.Output.secret(asset)
        self.upload = command.remote.CopyToRemote(
            f"{name}-upload",
            connection=connection,
            source=secret_asset,
            remote_path=plan.staged_path,
            opts=pulumi.ResourceOptions.merge(
                after(self.stage), pulumi.ResourceOptions(additional_secret_outputs=["source"])
            ),
        )
        install_stdin = pulumi.Output.all(args.content, args.preview).apply(
            lambda texts: commands.install_stdin(controller, ssh, stack, texts[0], texts[1])
        )
        self.install = command.remote.Command(
            f"{name}-install",
            connection=connection,
            create=plan.shell,
            update=plan.shell,
            stdin=install_stdin,
            delete=plan.restore_command,
            # A changed connection (new key or host key) replaces the command: restore first,
            # then install, never the other way round (which would leave the original in place).
            opts=pulumi.ResourceOptions.merge(after(self.upload), pulumi.ResourceOptions(delete_before_replace=True)),
        )
        # The file itself too, so that the client can install it again after a rollback.
        secret_content: pulumi.Output[str] = pulumi.Output.secret(args.content)
        environment = secret_environment(commands.provision_environment(controller, ssh))
        environment[commands.ENV_CONTENT] = secret_content
        provision = args.content.apply(lambda text: commands.provision_command(controller, ssh, stack, text))
        self.provision = command.local.Command(
            f"{name}-provision",
            create=provision,
            update=provision,
            environment=environment,
            opts=after(self.install),
        )
        self.register_outputs({"path": self.path, "sha256": self.sha256})

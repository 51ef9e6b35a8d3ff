"""``UsgGatewayConfig``: install the rendered config.gateway.json on the controller and
provision the USG, in this order (each step ``depends_on`` the one before):

1. ``reprovision-after-restore`` (local): only says what it is for on create; on destroy it runs last,
   after the original file is back, and provisions the gateway with it.
2. ``original`` (local): ``python -m components.unifi check-original`` on create and update refuses
   when the content would drop a setting of the user's own file (outside what the stack owns);
   its delete (``restore``) puts that original back. Its triggers are the host and site directory,
   with delete-before-replace: a new host first gets the old host's original back, with the old
   connection (a delete runs with the stored inputs).
3. ``stage`` (remote): makes sure ``sites/<site>/`` exists and leaves an empty staged file the
   SSH user may overwrite (the site directory belongs to the controller's user).
4. ``upload`` (CopyToRemote): the file, over SFTP, to the staged name in the same directory.
5. ``install`` (remote): checks the upload's sha256, keeps the user's original once, refuses
   hand edits and other stacks, moves the file into place (0600). No delete: ``original`` restores.
6. ``provision`` (local): ``python -m components.unifi provision``, secrets in its environment;
   provisions only when the content or the gateway changed since the run before.

Only ``triggers`` replace a command; a changed ``connection`` is an update, and CopyToRemote's
update copies only a changed file (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/remote/
command.go and copy.go, the field tags; copyController.go, Update). So stage and upload are
triggered by the connection's identity (no secret in it) as well as the content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.config.model import ControllerAccess, SshAccess
from components.contract import CONTENT_ENV
from components.resources import gateway_commands
from components.resources.secret_environment import secret_environment
from components.unifi.scripts import LIVE_NAME


@dataclass(frozen=True)
class UsgGatewayConfigArgs:
    controller: ControllerAccess
    ssh: SshAccess
    stack: str  # recorded beside the file: another stack's file is refused
    content: pulumi.Output[str]  # the exact file; may hold the BGP password (wrapped secret here)
    preview: pulumi.Output[str]  # the same document with secrets redacted, for diffs
    # What the stack owns in the file (components.unifi.kept_settings.owned_paths): its BGP
    # instance and its services' host names; any other setting of the user's original is kept.
    # Known once the cluster's Services are listed (discovered host names are owned too).
    owned: pulumi.Input[Sequence[Sequence[str]]]


class UsgGatewayConfig(pulumi.ComponentResource):
    reprovision_after_restore: command.local.Command
    original: command.local.Command
    stage: command.remote.Command
    upload: command.remote.CopyToRemote
    install: command.remote.Command
    provision: command.local.Command
    path: str
    sha256: pulumi.Output[str]

    def __init__(self, name: str, args: UsgGatewayConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:gateway:UsgGatewayConfig", name, None, opts)
        controller, ssh, stack = args.controller, args.ssh, args.stack
        plan = gateway_commands.upload_plan(controller, ssh, stack)
        self.path = f"{plan.site_dir}/{LIVE_NAME}"
        self.sha256 = args.content.apply(gateway_commands.sha256_hex)
        secret_content: pulumi.Output[str] = pulumi.Output.secret(args.content)

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(resources))

        connection = command.remote.ConnectionArgs(
            host=ssh.host,
            port=ssh.port,
            user=ssh.user,
            private_key=pulumi.Output.secret(gateway_commands.secret_value(ssh.private_key)),
            host_key=ssh.host_key,  # checked, never trusted on first use
        )

        self.reprovision_after_restore = command.local.Command(
            f"{name}-reprovision-after-restore",
            # A create of its own: some pulumi-command releases report a diff on every run for
            # a command without one (pulumi-command#920).
            create="echo 'provisions the gateway on destroy, after the original file is back'",
            delete=gateway_commands.reprovision_command(controller),
            environment=secret_environment(gateway_commands.client_environment(controller)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        original_environment = secret_environment(gateway_commands.ssh_environment(ssh))
        original_environment[CONTENT_ENV] = secret_content
        check = gateway_commands.check_original_command(controller, ssh, stack)
        self.original = command.local.Command(
            f"{name}-original",
            create=check,
            update=check,
            delete=gateway_commands.restore_command(controller, ssh, stack),
            stdin=pulumi.Output.from_input(args.owned).apply(gateway_commands.original_stdin),
            environment=original_environment,
            triggers=gateway_commands.host_identity(controller, ssh),
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions.merge(
                after(self.reprovision_after_restore), pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        self.stage = command.remote.Command(
            f"{name}-stage",
            connection=connection,
            create=plan.shell,
            stdin=plan.prepare_stdin,
            # A fresh placeholder per content and per connection (the install removes it); the
            # stage has no delete, so replacing it is harmless.
            triggers=[self.sha256, plan.connection_identity],
            # Unused; sent by SSH Setenv it would warn on every server without AcceptEnv
            # (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/remote/commandOutputs.go, run).
            add_previous_output_in_env=False,
            opts=after(self.original),
        )
        asset: pulumi.Output[pulumi.Asset] = args.content.apply(pulumi.StringAsset)
        secret_asset: pulumi.Output[pulumi.Asset] = pulumi.Output.secret(asset)
        self.upload = command.remote.CopyToRemote(
            f"{name}-upload",
            connection=connection,
            source=secret_asset,
            remote_path=plan.staged_path,
            # Replaced, hence copied, after every new stage; a content change alone is an update
            # that copies (the asset's hash changed).
            triggers=[plan.connection_identity, plan.stage_key],
            opts=pulumi.ResourceOptions.merge(
                after(self.stage), pulumi.ResourceOptions(additional_secret_outputs=["source"])
            ),
        )
        install_stdin = pulumi.Output.all(args.content, args.preview).apply(
            lambda texts: gateway_commands.install_stdin(controller, ssh, stack, texts[0], texts[1])
        )
        self.install = command.remote.Command(
            f"{name}-install",
            connection=connection,
            create=plan.shell,
            update=plan.shell,
            stdin=install_stdin,
            # No delete: ``original`` restores. A deployed stack's stored delete (a restore) is
            # dropped by this update, never run after a new install.
            add_previous_output_in_env=False,
            opts=after(self.upload),
        )
        environment = secret_environment(gateway_commands.provision_environment(controller, ssh))
        # The file itself too, so that the client can install it again after a rollback.
        environment[CONTENT_ENV] = secret_content
        provision = args.content.apply(lambda text: gateway_commands.provision_command(controller, ssh, stack, text))
        self.provision = command.local.Command(
            f"{name}-provision",
            create=provision,
            update=provision,
            environment=environment,
            opts=after(self.install),
        )
        self.register_outputs({"path": self.path, "sha256": self.sha256})

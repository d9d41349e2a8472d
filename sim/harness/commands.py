"""Random accelerator commands for the benches: legal ones of every opcode and the errors
of docs/hw-spec.md section 3."""

from __future__ import annotations


def random_command(rng, n_in: int, n_out: int) -> list[int]:
    """One random command: legal ones of every opcode and the errors of section 3."""
    from pysim.hw import driver as d
    from pysim.hw.isa import Op, Reg

    kind = int(rng.integers(0, 14))
    if kind == 0:
        return d.set_cfg(int(rng.integers(0, 11)), int(rng.choice(
            [0, 1, 2, 3, 63, 64, 255, 256, 0xFFFF, 0x10000, n_in * n_out + 1])))
    if kind == 1:
        return d.load_w(int(rng.integers(0, n_out + 1)), rng.integers(-128, 128, n_in))
    if kind == 2:
        return d.update(rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out))
    if kind == 3:
        return d.infer(rng.integers(-128, 128, n_in))
    if kind == 4:
        return d.simple(Op.COMMIT)
    if kind == 5:
        return d.simple(rng.choice([Op.READ_W, Op.READ_WCNT]), int(rng.integers(0, n_out + 1)))
    if kind == 6:
        return d.simple(Op.READ_STATS, int(rng.integers(0, 22)))
    if kind == 7:
        return d.simple(Op.READ_LRT, (int(rng.integers(0, 4)) << 14)
                        | int(rng.integers(0, max(n_in, n_out) + 1)))
    if kind == 8:
        return [int(rng.integers(0, 1 << 32))]  # garbage header
    if kind == 9:  # payload one word short or long
        words = d.update(rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out))
        return words[:-1] if rng.random() < 0.5 else [*words, 0]
    if kind == 10:
        return d.inject(int(rng.integers(0, n_out)), rng.integers(-128, 128, n_in))
    if kind == 11:
        return d.set_stuck(int(rng.integers(0, n_out)), rng.random(n_in) < 0.1)
    if kind == 12:
        return d.simple(rng.choice([Op.RESET_LRT, Op.NOP, Op.GET_CFG, Op.CLEAR_STATS]),
                        int(rng.integers(0, 2)) * int(rng.integers(0, 12)))
    return d.set_cfg(Reg.LR_MANT, int(rng.integers(1, 1 << 16)))

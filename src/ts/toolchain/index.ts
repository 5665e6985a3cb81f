// node-libbpf/toolchain: what builds and inspects BPF programs rather than running them:
// clang with the package's headers (build, headerBtf, vmlinuxHeader), TypeScript from an
// object's BTF (generate), minimal BTF for CO-RE (minCoreBtf) and the machine's report
// (doctor). Agents import 'node-libbpf' and never load any of this.
export { build, buildCommand, findClang, headerBtf, vmlinuxHeader, type BuildOptions, type HeaderBtfOptions } from './build';
export { generate, minCoreBtf, type GenOptions } from './gen';
export { AGENT_REQUIREMENTS, doctor, formatDoctor, type AgentRequirements, type DoctorReport } from './doctor';

mod decision;
mod receive;
mod wire;

// SPDX-License-Identifier: MIT
// Minimal contracts for the EVM adapter test: an ERC-20 style ELDR token and an ERC-721 style
// pilot contract whose owner (the treasury) mints. Built with solc from npm by .ci/run.
pragma solidity ^0.8.19;

contract Eldr {
    string public constant name = "Eldr";
    string public constant symbol = "ELDR";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 value);

    constructor(uint256 supply) {
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "insufficient balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}

contract Pilots {
    address public owner = msg.sender;
    mapping(uint256 => address) public ownerOf;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    function mint(address to, uint256 tokenId) external {
        require(msg.sender == owner, "not owner");
        require(ownerOf[tokenId] == address(0), "exists");
        ownerOf[tokenId] = to;
        emit Transfer(address(0), to, tokenId);
    }
}
